"""Fitment: which tyres and wheels fit which vehicle variant, by bucket, with a match score."""
