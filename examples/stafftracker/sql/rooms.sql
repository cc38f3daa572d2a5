-- The rooms database of the StaffTracker example: each room and the zipcode of its building.
CREATE TABLE room (
  room VARCHAR(10) PRIMARY KEY,
  zipcode VARCHAR(10) NOT NULL
) DEFAULT CHARSET = utf8mb4;

INSERT INTO room (room, zipcode) VALUES
  ('F1.10', '2628 CD'),
  ('F1.12', '2628 CD'),
  ('F2.03', '2628 CD'),
  ('F2.05', '2628 XE'),
  ('F3.01', '2628 XE');
