"""Where travel times come from (a road network, a matrix file) and how they are rounded."""
