"""Insights (issue 28): WeChat's statistics and our own rollups, charts, the monthly client report."""
