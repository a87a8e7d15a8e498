"""`run --promote`: stages verified on live metrics and promotions written to git, by the
lease holder, pass after pass."""
