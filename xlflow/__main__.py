from xlflow.cli import main

# The guard matters on Windows: worker processes (templates, reports) re-import the main module.
if __name__ == "__main__":
    main(prog_name="xlflow")  # usage lines say "xlflow", not "python -m xlflow"
