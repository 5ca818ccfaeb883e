"""The reviewers' side of the queue: an inbox folded from the task and decision topics, the
terminal reviewer (`kyb review`) and the web console (`kyb console`)."""
