"""The course directory: nbgrader's layout plus backproplab's keys and secret."""
