from xlflow.cli import main

main()
