"""Release student notebooks and grade a class's submissions (see `python -m autograder --help`)."""
