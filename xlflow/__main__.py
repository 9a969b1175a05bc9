from xlflow.cli import main

# The guard matters on Windows: worker processes (templates, reports) re-import the main module.
if __name__ == "__main__":
    main()
