CREATE TABLE IF NOT EXISTS products (
  sku text PRIMARY KEY,
  name text NOT NULL,
  cents integer NOT NULL
);
INSERT INTO products (sku, name, cents) VALUES
  ('mug', 'Branchbox mug', 1200),
  ('tee', 'Branchbox t-shirt', 2500)
ON CONFLICT (sku) DO NOTHING;
