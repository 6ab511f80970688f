"""Package data of the fakebooks test connector (flx.testing.fake): templates/ and mappings/."""
