"""``sim forecast``: calls per interval for the days ahead from a history (docs/forecast.md).

``history`` reads a call log or an interval report into counts per day, interval and call type;
``special`` the special-days file; ``methods`` the forecast methods; ``backtest`` the
rolling-origin back-test and the calibrated prediction intervals; ``pipeline`` runs them and
``scenario_out`` writes the dated scenario to plan with.
"""
