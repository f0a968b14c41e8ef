"""What a student runs: the helpers their notebook's check cells call (`cells`) and
`backproplab check` (`check`). Nothing here reads a key, a hidden test or a solution."""
