"""`python -m local.emulator --port 9000`: the emulator on 127.0.0.1 until Ctrl-C."""

from local.emulator.server import main

main()
