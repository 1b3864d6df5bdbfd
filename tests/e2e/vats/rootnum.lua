-- buildRootObject returns a number: the launch must say it is no object.
return { buildRootObject = function() return 7 end }
