from automations.cli import main

raise SystemExit(main())
