-- A module that awaits at its top level: require cannot wait, so this
-- must fail with "cannot await here".
Promise.kit().promise:await()
return {}
