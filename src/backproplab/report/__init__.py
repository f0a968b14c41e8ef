"""The instructor's HTML report of a graded assignment (`backproplab report`)."""
