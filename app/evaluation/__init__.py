"""Program evaluation: outcomes after screening and how well each instrument performs."""
