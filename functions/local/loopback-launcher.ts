/**
 * DynamoDB Local has no option for the address it listens on: its DynamoDBProxyServer builds a Jetty
 * `new Server(port)`, whose connector binds every interface. This module writes, as bytes, the one
 * small Java class that starts it bound to one address instead, so that no compiler is needed (a
 * headless JRE is enough). What the class does, in Java:
 *
 *   public class OtpLoopbackDynamoDbLocal {
 *     public static void main(String[] args) throws Exception {
 *       DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
 *       Field field = DynamoDBProxyServer.class.getDeclaredField("server");
 *       field.setAccessible(true);
 *       ((ServerConnector) ((Server) field.get(proxy)).getConnectors()[0]).setHost(HOST);
 *       proxy.start();
 *       proxy.join();
 *     }
 *   }
 *
 * The connector only binds in start(), so setting its host before that is enough. Should a later
 * DynamoDB Local rename that field, the JVM exits at once with NoSuchFieldException, and
 * startDynamoDbLocal reports its output: it never silently falls back to every interface.
 */

export const LAUNCHER_CLASS = 'OtpLoopbackDynamoDbLocal';

const PROXY = 'software/amazon/dynamodb/services/local/server/DynamoDBProxyServer';
const RUNNER = 'software/amazon/dynamodb/services/local/main/ServerRunner';
const JETTY_SERVER = 'org/eclipse/jetty/server/Server';
const CONNECTOR = 'org/eclipse/jetty/server/ServerConnector';

/** A class file constant pool: each entry once, 1-based indexes as the JVM counts them. */
class ConstantPool {
  private readonly entries: Buffer[] = [];
  private readonly indexes = new Map<string, number>();

  private add(key: string, bytes: Buffer): number {
    let index = this.indexes.get(key);
    if (index === undefined) {
      this.entries.push(bytes);
      index = this.entries.length;
      this.indexes.set(key, index);
    }
    return index;
  }

  utf8(text: string): number {
    // Only ASCII names and descriptors here, where modified UTF-8 equals ASCII.
    const bytes = Buffer.from(text, 'ascii');
    return this.add(`utf8:${text}`, Buffer.concat([u1(1), u2(bytes.length), bytes]));
  }

  classRef(name: string): number {
    return this.add(`class:${name}`, Buffer.concat([u1(7), u2(this.utf8(name))]));
  }

  string(text: string): number {
    return this.add(`string:${text}`, Buffer.concat([u1(8), u2(this.utf8(text))]));
  }

  method(owner: string, name: string, descriptor: string): number {
    const nameAndType = this.add(
      `nat:${name}:${descriptor}`,
      Buffer.concat([u1(12), u2(this.utf8(name)), u2(this.utf8(descriptor))]),
    );
    return this.add(
      `method:${owner}.${name}${descriptor}`,
      Buffer.concat([u1(10), u2(this.classRef(owner)), u2(nameAndType)]),
    );
  }

  bytes(): Buffer {
    return Buffer.concat([u2(this.entries.length + 1), ...this.entries]);
  }
}

function u1(value: number): Buffer {
  return Buffer.from([value]);
}

function u2(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

function u4(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

const op = {
  aload0: 0x2a,
  aload1: 0x2b,
  aload2: 0x2c,
  astore1: 0x4c,
  astore2: 0x4d,
  iconst0: 0x03,
  iconst1: 0x04,
  aaload: 0x32,
  ldcW: 0x13,
  invokestatic: 0xb8,
  invokevirtual: 0xb6,
  checkcast: 0xc0,
  return: 0xb1,
} as const;

/** The class file of the launcher, binding DynamoDB Local to `host` (an IP address literal). */
export function launcherClassFile(host: string): Buffer {
  if (!/^[0-9a-fA-F.:]+$/.test(host)) throw new Error(`not an IP address literal: ${host}`);
  const pool = new ConstantPool();
  const thisClass = pool.classRef(LAUNCHER_CLASS);
  const superClass = pool.classRef('java/lang/Object');
  const mainName = pool.utf8('main');
  const mainDescriptor = pool.utf8('([Ljava/lang/String;)V');
  const codeName = pool.utf8('Code');
  const withIndex = (opcode: number, index: number) => Buffer.concat([u1(opcode), u2(index)]);

  const code = Buffer.concat([
    u1(op.aload0),
    withIndex(
      op.invokestatic,
      pool.method(RUNNER, 'createServerFromCommandLineArgs', `([Ljava/lang/String;)L${PROXY};`),
    ),
    u1(op.astore1),
    withIndex(op.ldcW, pool.classRef(PROXY)),
    withIndex(op.ldcW, pool.string('server')),
    withIndex(
      op.invokevirtual,
      pool.method('java/lang/Class', 'getDeclaredField', '(Ljava/lang/String;)Ljava/lang/reflect/Field;'),
    ),
    u1(op.astore2),
    u1(op.aload2),
    u1(op.iconst1),
    withIndex(op.invokevirtual, pool.method('java/lang/reflect/Field', 'setAccessible', '(Z)V')),
    u1(op.aload2),
    u1(op.aload1),
    withIndex(
      op.invokevirtual,
      pool.method('java/lang/reflect/Field', 'get', '(Ljava/lang/Object;)Ljava/lang/Object;'),
    ),
    withIndex(op.checkcast, pool.classRef(JETTY_SERVER)),
    withIndex(op.invokevirtual, pool.method(JETTY_SERVER, 'getConnectors', '()[Lorg/eclipse/jetty/server/Connector;')),
    u1(op.iconst0),
    u1(op.aaload),
    withIndex(op.checkcast, pool.classRef(CONNECTOR)),
    withIndex(op.ldcW, pool.string(host)),
    withIndex(op.invokevirtual, pool.method(CONNECTOR, 'setHost', '(Ljava/lang/String;)V')),
    u1(op.aload1),
    withIndex(op.invokevirtual, pool.method(PROXY, 'start', '()V')),
    u1(op.aload1),
    withIndex(op.invokevirtual, pool.method(PROXY, 'join', '()V')),
    u1(op.return),
  ]);
  const codeAttribute = Buffer.concat([
    u2(3), // max stack: field, proxy and one more at most
    u2(3), // max locals: args, proxy, field
    u4(code.length),
    code,
    u2(0), // exception table
    u2(0), // attributes
  ]);

  return Buffer.concat([
    u4(0xcafebabe),
    u2(0),
    // Java 5 class file: straight-line code needs no stack map frames there, and every JVM since runs it.
    u2(49),
    pool.bytes(),
    u2(0x0021), // public, super
    u2(thisClass),
    u2(superClass),
    u2(0), // interfaces
    u2(0), // fields
    u2(1), // methods
    u2(0x0009), // public static
    u2(mainName),
    u2(mainDescriptor),
    u2(1),
    u2(codeName),
    u4(codeAttribute.length),
    codeAttribute,
    u2(0), // class attributes
  ]);
}
