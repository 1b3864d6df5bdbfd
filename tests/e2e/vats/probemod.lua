-- A module beside probe.lua: require finds it in the vat's snapshot.
return {answer = 42}
