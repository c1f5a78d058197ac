"""The shared kernel: errors, database plumbing, ports. Imports nothing else of liveloop."""
