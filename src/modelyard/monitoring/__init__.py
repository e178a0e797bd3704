"""Reference profiles, sketches, drift and quality: measuring, never deciding."""
