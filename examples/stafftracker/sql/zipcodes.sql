-- The zipcodes database of the StaffTracker example: where a zipcode is.
CREATE TABLE zipcode (
  zipcode VARCHAR(10) PRIMARY KEY,
  street VARCHAR(100) NOT NULL,
  city VARCHAR(100) NOT NULL
) DEFAULT CHARSET = utf8mb4;

INSERT INTO zipcode (zipcode, street, city) VALUES
  ('2628 CD', 'Mekelweg', 'Delft'),
  ('2628 XE', 'Van Mourik Broekmanweg', 'Delft'),
  ('1098 XG', 'Science Park', 'Amsterdam');
