"""What is measured: KPIs, standards, the scorecard, data-quality figures and analyses."""
