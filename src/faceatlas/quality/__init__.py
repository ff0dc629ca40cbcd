"""Face quality: a score in [0, 1] predicting how recognisable a face is, from cheap signals."""
