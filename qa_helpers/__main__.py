from qa_helpers.cli import main

raise SystemExit(main())
