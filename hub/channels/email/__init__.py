"""The email channel: a company mailbox (IMAP in, SMTP out) as one more channel of the inbox."""
