import dev.telemetry.thrift.CollectorPayload;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.thrift.TDeserializer;
import org.apache.thrift.TSerializer;

/**
 * Reads one base64 Thrift CollectorPayload a line, decodes it with Apache's Java library (the classes
 * thrift-compiler made from collector-payload.thrift), encodes it again with TSerializer's default binary
 * protocol, as Snowplow's collector does, and prints those bytes in base64, or "error: why" when a line
 * does not decode.
 */
public class RoundTrip {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    TDeserializer deserializer = new TDeserializer();
    TSerializer serializer = new TSerializer();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      try {
        CollectorPayload payload = new CollectorPayload();
        deserializer.deserialize(payload, Base64.getDecoder().decode(line));
        System.out.println(Base64.getEncoder().encodeToString(serializer.serialize(payload)));
      } catch (Exception e) {
        System.out.println("error: " + e);
      }
    }
  }
}
