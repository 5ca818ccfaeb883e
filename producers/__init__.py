"""Publishers of events that enter the pipeline from outside: the portal and the reviewers."""
