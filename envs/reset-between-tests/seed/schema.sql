CREATE TABLE products (
    id    int PRIMARY KEY,
    name  text NOT NULL,
    stock int NOT NULL CHECK (stock >= 0)
);
CREATE TABLE orders (
    id         serial PRIMARY KEY,
    product_id int NOT NULL REFERENCES products (id),
    quantity   int NOT NULL
);
