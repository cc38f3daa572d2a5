-- The staff database of the StaffTracker example: who works here and in which room.
CREATE TABLE staff (
  id INT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  room VARCHAR(10) NOT NULL
) DEFAULT CHARSET = utf8mb4;

INSERT INTO staff (id, name, room) VALUES
  (1, 'Ada Lovelace', 'F1.10'),
  (2, 'Grace Hopper', 'F1.12'),
  (3, 'Alan Turing', 'F2.03'),
  (4, 'Edsger Dijkstra', 'F2.05'),
  (5, 'Barbara Liskov', 'F3.01');
