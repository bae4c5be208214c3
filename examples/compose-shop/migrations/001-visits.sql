CREATE TABLE IF NOT EXISTS visits (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now()
);
