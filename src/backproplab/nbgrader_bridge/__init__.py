"""backproplab inside nbgrader's own commands: the autograde plugin that grades through the
sandbox (`plugin`), and stock in-kernel grading for courses without it (`inkernel`)."""
