"""One module per stage: each exposes `handle(event, ctx) -> events` and knows no Kafka."""
