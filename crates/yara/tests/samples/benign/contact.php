<?php
// Contact form: escapes input, never evaluates it.
$name = htmlspecialchars($_POST['name'] ?? '', ENT_QUOTES);
$topic = filter_input(INPUT_GET, 'topic', FILTER_SANITIZE_SPECIAL_CHARS);
$rows = json_decode(file_get_contents(__DIR__ . '/topics.json'), true);
assert(is_array($rows));
echo "<p>Thank you, $name. We will reply about " . $topic . ".</p>";
?>
