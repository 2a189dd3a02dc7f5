"""The conversation workspace: staff answer users with message/custom/send."""
