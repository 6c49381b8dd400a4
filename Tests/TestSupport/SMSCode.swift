/// Reads the code out of an SMS text, the one way every test does it.
public enum SMSCode {
    /// The first run of exactly `length` ASCII digits in `body` (a longer run is not a code).
    public static func extract(from body: String, length: Int = 6) -> String? {
        var run = ""
        for character in body + " " {
            if character.isASCII && character.isNumber {
                run.append(character)
            } else {
                if run.count == length { return run }
                run = ""
            }
        }
        return nil
    }
}
