"""Data in: raw exports read, mapped, validated, cleaned, protected and archived; the archive read back."""
