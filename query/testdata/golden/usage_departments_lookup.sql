SELECT user_id, arrayStringConcat(arraySort(groupUniqArray(toString(department_id))), ';')
FROM user_departments WHERE client_id = toUUID(@client) GROUP BY user_id
-- @client = "c0000000-0000-4000-8000-000000000001"
