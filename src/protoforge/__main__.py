from protoforge.cli_direct import main

main()
