"""``python -m rerunorch`` is the ``rerunorch`` command."""

from rerunorch.cli import main

if __name__ == "__main__":
    main()
