"""Questions the assistant missed, grouped, reviewed, and exported as training examples."""
