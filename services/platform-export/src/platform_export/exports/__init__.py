"""Stock feeds per platform: full and delta export runs, their formats, schedule and records."""
