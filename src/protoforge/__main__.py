from protoforge.cli.direct import main

main()
