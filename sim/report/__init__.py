"""Results on disk: results folders written atomically, plots and the HTML report.

Reads results as files; it does not run the model.
"""
