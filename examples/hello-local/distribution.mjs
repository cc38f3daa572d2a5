// Where each service goes (-d). CLOCK_ON moves the clock to the other machine.
export default ({ infrastructure: { machine1, machine2 } }) => ({
  shelf: [machine1],
  clock: [process.env.CLOCK_ON === 'machine1' ? machine1 : machine2],
  hello: [machine1, machine2],
});
