if __name__ == "__main__":  # not on import: worker processes import the main module
    from .cli import main

    raise SystemExit(main())
