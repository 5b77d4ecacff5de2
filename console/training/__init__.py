"""Training from the console: staff's examples into a candidate model, checked, activated, rolled back."""

# What a training run does, in order: its progress is "step n of len(STEPS)" (console/training/job.py).
STEPS = [
    "Preparing the training data",
    "Training the model",
    "Checking the held-out questions",
    "Running the conversation tests",
    "Measuring answers end to end on the held-out questions",
    "Storing the model",
]
