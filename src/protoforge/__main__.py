from protoforge.cli import main

main()
