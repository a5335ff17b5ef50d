"""Mail: composing messages (compose), rendering templates (render) and transports (outbox, smtp)."""
