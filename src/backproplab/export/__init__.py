"""Grade exports: per-question CSV, Canvas gradebook CSV, Gradescope results.json (`backproplab export`)."""
